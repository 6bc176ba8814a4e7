// The site's mark and name (the hospital's name from /api/v1/info, and the product's).
export function Logo(props: { name: string }) {
  const showProduct = props.name.trim().toLowerCase() !== 'carecomm';
  return (
    <span class="logo">
      <svg class="logo-mark" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
        <rect width="32" height="32" rx="7" fill="currentColor" />
        <path d="M13 7h6v6h6v6h-6v6h-6v-6H7v-6h6z" fill="#fff" />
      </svg>
      <span class="logo-text">
        <span class="logo-name">{props.name}</span>
        {showProduct && <span class="logo-product">carecomm</span>}
      </span>
    </span>
  );
}
