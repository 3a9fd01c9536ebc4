// Removes secrets from texts that reach logs or responses.

// Any URL may carry credentials; texts name the failure, not the address.
const URL_PATTERN = /[a-z][a-z0-9+.-]*:\/\/\S+/gi;

/** text with every URL and every one of `secrets` replaced. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let result = text;
  for (const secret of secrets) {
    if (secret) result = result.split(secret).join('[redacted]');
  }
  return result.replace(URL_PATTERN, '[redacted url]');
}
