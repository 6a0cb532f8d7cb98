// test-auth.ts
async function testAuth() {
  const response = await fetch('https://regpilot.dev/api/health', {
    headers: {
      'X-API-Key': process.env.REGPILOT_API_KEY!,
    },
  });
  
  const data = await response.json();
  
  if (data.authenticated) {
    console.log('✅ Authentication successful');
    console.log('Project ID:', data.project_id);
  } else {
    console.error('❌ Authentication failed');
  }
}

testAuth();
