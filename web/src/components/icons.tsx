// Line icons (24×24, stroke) for the navigation; decorative, hidden from assistive technology.
const paths: Record<string, string> = {
  home: 'M3 11l9-7 9 7v9a1 1 0 0 1-1 1h-5v-6H9v6H4a1 1 0 0 1-1-1z',
  messages: 'M4 5h16v11H8l-4 4z',
  meetings: 'M3 7h12v10H3zM15 10l6-3v10l-6-3',
  consultations: 'M8 3v5a4 4 0 0 0 8 0V3M12 12v3a4 4 0 0 0 8 0v-2M20 11a2 2 0 1 0 0 .1',
  expertise: 'M12 3l2.5 5 5.5.8-4 3.9 1 5.5-5-2.7-5 2.7 1-5.5-4-3.9 5.5-.8z',
  devices: 'M7 3h10v18H7zM11 18h2',
  users: 'M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM2 21a7 7 0 0 1 14 0M17 11a3 3 0 1 0 0-6M22 20a5 5 0 0 0-4-5',
  audit: 'M6 3h9l4 4v14H6zM9 12h7M9 16h7M9 8h4',
  admin: 'M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z',
  account: 'M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM4 21a8 8 0 0 1 16 0',
  logout: 'M15 4h4v16h-4M10 8l-4 4 4 4M6 12h10',
  menu: 'M4 6h16M4 12h16M4 18h16',
  close: 'M6 6l12 12M18 6L6 18',
};

export function Icon(props: { name: keyof typeof paths | string; class?: string }) {
  return (
    <svg
      class={`icon ${props.class || ''}`}
      viewBox="0 0 24 24"
      aria-hidden="true"
      focusable="false"
      fill="none"
      stroke="currentColor"
      stroke-width="2"
      stroke-linecap="round"
      stroke-linejoin="round"
    >
      <path d={paths[props.name] || ''} />
    </svg>
  );
}
