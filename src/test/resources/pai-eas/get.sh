# <EAS_SERVICE_URL>和<EAS_TOKEN>需分别替换为服务访问地址和Token。
# <reference_audio_id>需替换为参考音频ID。
curl -XGET <EAS_SERVICE_URL>/api/v1/audio/reference_audio/<reference_audio_id> \
      --header 'Authorization: Bearer <EAS_TOKEN>'
