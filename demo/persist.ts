/** The demo's choices (model source, sampling settings, system prompt) kept across reloads in localStorage. */
const KEY = 'llmo-demo-settings';
const FIELDS = ['model-url', 'max-tokens', 'temperature', 'top-p', 'system-prompt'] as const;

type Field = HTMLInputElement | HTMLTextAreaElement;
const field = (id: string) => document.getElementById(id) as Field | null;

function read(): Record<string, string> {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? '{}') as unknown;
    return v && typeof v === 'object' ? (v as Record<string, string>) : {};
  } catch {
    return {}; // storage blocked or a damaged entry: start from the defaults
  }
}

/** Restores saved values into the fields (the model list's radio too) and saves each field when it changes. */
export function persistSettings(): void {
  const saved = read();
  for (const id of FIELDS) {
    const el = field(id);
    if (!el) continue;
    if (typeof saved[id] === 'string') el.value = saved[id];
    el.addEventListener('change', () => save(id, el.value));
  }
  const url = saved['model-url'];
  if (url) {
    for (const r of document.querySelectorAll<HTMLInputElement>('#model-list input[type=radio]')) r.checked = r.value === url;
  }
}

/** Saves one field (also for values set by script, e.g. picking a model in the list). */
export function save(id: (typeof FIELDS)[number], value: string): void {
  try {
    localStorage.setItem(KEY, JSON.stringify({ ...read(), [id]: value }));
  } catch {
    // storage blocked (private mode): settings just do not persist
  }
}
