// A QR code drawn as SVG from the otpauth:// URI, generated in the browser (the secret never
// leaves it). The generator is loaded only on the page that needs it.
import { useEffect, useState } from 'preact/hooks';

export function QrCode(props: { text: string; label: string }) {
  const [path, setPath] = useState<{ d: string; n: number } | null>(null);
  useEffect(() => {
    let live = true;
    void import('lean-qr/nano').then(({ generate, correction }) => {
      const qr = generate(props.text, { minCorrectionLevel: correction.M });
      const n = qr.size;
      let d = '';
      for (let y = 0; y < n; y++)
        for (let x = 0; x < n; x++) if (qr.get(x, y)) d += `M${x + 4} ${y + 4}h1v1h-1z`;
      if (live) setPath({ d, n: n + 8 });
    });
    return () => {
      live = false;
    };
  }, [props.text]);
  if (!path) return <div class="qr qr-loading" aria-hidden="true" />;
  return (
    <svg class="qr" viewBox={`0 0 ${path.n} ${path.n}`} role="img" aria-label={props.label} shape-rendering="crispEdges">
      <rect width={path.n} height={path.n} fill="#fff" />
      <path d={path.d} fill="#000" />
    </svg>
  );
}
