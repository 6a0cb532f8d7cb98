# Test authentication
curl https://regpilot.dev/api/health \
  -H "X-API-Key: YOUR_API_KEY"
