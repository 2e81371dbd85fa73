# <EAS_SERVICE_URL>和<EAS_TOKEN>需分别替换为服务访问地址和Token。

curl -XGET "<EAS_SERVICE_URL>/api/v1/audio/reference_audio?limit=10&order=desc" \
      --header 'Authorization: Bearer <EAS_TOKEN>'
