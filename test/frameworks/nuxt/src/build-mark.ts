export const BUILD = 'v1';
