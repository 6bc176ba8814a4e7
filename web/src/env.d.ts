// Side-effect imports that Vite handles.
declare module '*.css';
