# <EAS_SERVICE_URL>和<EAS_TOKEN>需分别替换为服务访问地址和Token。 

curl -XPOST <EAS_SERVICE_URL>/api/v1/audio/reference_audio \
    --header 'Authorization: Bearer <EAS_TOKEN>' \
    --form 'file=@"/home/xxxx/zero_shot_prompt.wav"' \
    --form 'text="希望你以后能够做得比我还好哟"'
