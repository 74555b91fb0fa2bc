import { useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { PaperclipIcon } from './Icons';

interface ComposerProps {
  busy: boolean;
  stopping: boolean;
  onSend(text: string, files: File[]): Promise<void>;
  onStop(): Promise<void>;
  /** Sends text to the running answer; resolves false when the server did not take it. */
  onSteer(text: string): Promise<boolean>;
}

/** The message box: Enter sends (Shift+Enter for a new line); while an answer runs, Stop and Steer. */
export function Composer({ busy, stopping, onSend, onStop, onSteer }: ComposerProps) {
  const [text, setText] = useState('');
  // Copied out of the input: a FileList belongs to its input and empties when the input is reset.
  const [files, setFiles] = useState<File[]>([]);
  const fileInput = useRef<HTMLInputElement>(null);

  async function submit(event?: FormEvent) {
    event?.preventDefault();
    const message = text.trim();
    if (!message) return;
    if (busy) {
      if (await onSteer(message)) setText('');
      return;
    }
    setText('');
    const attached = files;
    setFiles([]);
    if (fileInput.current) fileInput.current.value = '';
    await onSend(message, attached);
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void submit();
    }
  }

  return (
    <form className="composer" onSubmit={submit} aria-label="Message">
      {files.length > 0 && (
        <div className="attachment-chips">
          {files.map((file) => (
            <span key={file.name} className="chip">
              <PaperclipIcon /> {file.name}
            </span>
          ))}
        </div>
      )}
      <div className="composer-row">
        <button type="button" className="icon attach" title="Attach files" aria-label="Attach files" onClick={() => fileInput.current?.click()} disabled={busy}>
          <PaperclipIcon />
        </button>
        <input ref={fileInput} type="file" multiple hidden onChange={(event) => setFiles(Array.from(event.target.files ?? []))} />
        <textarea
          aria-label="Message"
          placeholder={busy ? 'Add a correction to the running answer…' : 'Send a message'}
          rows={1}
          value={text}
          onChange={(event) => setText(event.target.value)}
          onKeyDown={onKeyDown}
        />
        {busy ? (
          <>
            {text.trim() && (
              <button type="submit" className="secondary">
                Steer
              </button>
            )}
            <button type="button" className="stop" onClick={() => void onStop()} disabled={stopping}>
              {stopping ? 'Stopping…' : 'Stop'}
            </button>
          </>
        ) : (
          <button type="submit" className="primary" disabled={!text.trim()}>
            Send
          </button>
        )}
      </div>
    </form>
  );
}
