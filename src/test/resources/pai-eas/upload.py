import requests

response = requests.post(
    "<EAS_SERVICE_URL>/api/v1/audio/reference_audio",  # <EAS_SERVICE_URL>需替换为服务访问地址。
    headers={
        "Authorization": "Bearer <EAS_TOKEN>",  # <EAS_TOKEN>需替换为服务Token。
    },
    files={
        "file": open("./zero_shot_prompt.wav", "rb"),
    },
    data={
        "text": "希望你以后能够做得比我还好哟"
    }
)

print(response.text)
