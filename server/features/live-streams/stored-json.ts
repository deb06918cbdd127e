// Values written to Redis by this or another version (SRS Stack's Go platform) are read
// defensively: malformed JSON or a field of the wrong type never breaks a listing.

/** A reader of a stored JSON object's string fields ('' when absent or not a string); null if not an object. */
export function storedObject(raw: string): ((field: string) => string) | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const o = value as Record<string, unknown>;
  return (field) => (typeof o[field] === 'string' ? (o[field] as string) : '');
}
