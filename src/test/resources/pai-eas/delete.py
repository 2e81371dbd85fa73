import requests

response = requests.delete(
    "<EAS_SERVICE_URL>/api/v1/audio/reference_audio/<reference_audio_id>",  # <EAS_SERVICE_URL>需替换为服务访问地址。
    headers={
        "Authorization": "Bearer <EAS_TOKEN>",  # <EAS_TOKEN>需替换为服务Token。
    }
)

print(response.text)
