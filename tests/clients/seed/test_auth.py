# test_auth.py
import requests
import os

response = requests.get(
    'https://regpilot.dev/api/health',
    headers={'X-API-Key': os.environ['REGPILOT_API_KEY']}
)

data = response.json()

if data['authenticated']:
    print('✅ Authentication successful')
    print(f"Project ID: {data['project_id']}")
else:
    print('❌ Authentication failed')
