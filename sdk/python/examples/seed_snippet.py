from regpilot import RegPilot

client = RegPilot(api_key=os.environ["REGPILOT_API_KEY"])

# Authentication handled automatically
response = client.chat.create(
    messages=[{"role": "user", "content": "Hello"}]
)
