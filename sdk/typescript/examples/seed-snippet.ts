import { RegPilot } from '@regpilot/sdk';

const client = new RegPilot({
  apiKey: process.env.REGPILOT_API_KEY,
});

// Authentication handled automatically
const response = await client.chat.create({
  messages: [{ role: 'user', content: 'Hello' }],
});
