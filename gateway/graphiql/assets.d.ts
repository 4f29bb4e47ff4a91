/** Style sheets esbuild bundles into the page's CSS file; they export nothing to the script. */
declare module '*.css';
