import type { NextConfig } from 'next';

const root = import.meta.dirname;

const nextConfig: NextConfig = {
  output: 'standalone',
  // This project lives inside another npm project (the gantry repo): pin the
  // tracing/workspace root here so .next/standalone/server.js is at its top.
  outputFileTracingRoot: root,
  turbopack: { root },
};

export default nextConfig;
