// The Worker entry point that wrangler.toml names: the inbox app, whose `fetch` handles every request.
// (An entry module, not a barrel: wrangler needs the default export.)
import { createApp } from './app.ts';

export default createApp();
