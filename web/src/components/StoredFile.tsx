/**
 * Files and images whose URL is an API path (`/api/attachments/…`, `/api/generated-images/…`): the
 * API wants the key in the `Authorization` header, which an `<img src>` or a link cannot send, so the
 * bytes are fetched with the key and shown from an object URL. Other URLs (data:, https:) are used
 * as they are.
 */
import { useContext, useEffect, useState, type ComponentProps } from 'react';
import { ApiClientContext } from '../context';

function needsKey(url: string): boolean {
  return url.startsWith('/api/');
}

/** The URL to put in the page: the object URL of the fetched bytes for API paths (undefined while loading). */
export function useStoredFileUrl(url: string): { url?: string; failed: boolean } {
  const client = useContext(ApiClientContext);
  const [state, setState] = useState<{ url?: string; failed: boolean }>({ failed: false });
  useEffect(() => {
    if (!needsKey(url) || !client) return;
    let active = true;
    let objectUrl: string | undefined;
    client.fetchFile(url).then(
      (blob) => {
        if (!active) return;
        objectUrl = URL.createObjectURL(blob);
        setState({ url: objectUrl, failed: false });
      },
      () => active && setState({ failed: true }),
    );
    return () => {
      active = false;
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [client, url]);
  return needsKey(url) ? state : { url, failed: false };
}

export function StoredImage({ src, alt, ...rest }: ComponentProps<'img'> & { src: string }) {
  const resolved = useStoredFileUrl(src);
  if (resolved.failed) return <span className="muted small">[image unavailable: {alt || src}]</span>;
  if (!resolved.url) return <span className="image-loading" role="img" aria-label={alt ? `${alt} (loading)` : 'loading image'} />;
  return <img {...rest} src={resolved.url} alt={alt ?? ''} loading="lazy" />;
}

/** A Markdown image (`![alt](url)`) in an answer, e.g. an image the model generated. */
export function MarkdownImage(props: ComponentProps<'img'> & { node?: unknown }) {
  const { node: _node, src, ...rest } = props;
  if (typeof src !== 'string' || !src) return null;
  return <StoredImage {...rest} src={src} className="markdown-image" />;
}

export function StoredFileLink({ url, name, className, children }: { url: string; name: string; className?: string; children: React.ReactNode }) {
  const resolved = useStoredFileUrl(url);
  return (
    <a className={className} href={resolved.url ?? '#'} target="_blank" rel="noreferrer" download={name} aria-disabled={!resolved.url}>
      {children}
    </a>
  );
}
