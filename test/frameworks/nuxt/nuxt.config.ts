// https://nuxt.com/docs/api/configuration/nuxt-config
export default defineNuxtConfig({
  compatibilityDate: '2026-08-01',
  telemetry: false,
  devtools: { enabled: false },
  css: ['~/assets/main.css'],
  // Link the stylesheet as a hashed /_nuxt/*.css file instead of inlining it.
  features: { inlineStyles: false },
});
