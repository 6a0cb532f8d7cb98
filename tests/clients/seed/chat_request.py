import requests
import os

response = requests.post(
    'https://regpilot.dev/api/ai/chat',
    headers={
        'X-API-Key': os.environ['REGPILOT_API_KEY'],
        'Content-Type': 'application/json',
    },
    json={
        'messages': [{'role': 'user', 'content': 'Hello'}]
    }
)
