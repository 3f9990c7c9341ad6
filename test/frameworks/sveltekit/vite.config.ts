import { sveltekit } from '@sveltejs/kit/vite';
import adapter from '@sveltejs/adapter-node';
import { defineConfig } from 'vite';

// SvelteKit 3 takes its configuration here (svelte.config.js is gone).
export default defineConfig({
  plugins: [sveltekit({ adapter: adapter() })],
});
