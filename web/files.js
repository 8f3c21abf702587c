// Files: announce, upload with the presigned request, post; and downloads (a customer's
// export among them). Used by webchat.js and the agent console.

export const NO_FILES = "No file provided: pass a file input, a FileList, a File or an array of Files.";

/// The seed's file input, a FileList, an array of Files, or one File.
/// The seed's samples pass jQuery collections (`$('input')`): their first element.
export const element = (x) => (x && x.jquery ? x[0] : x);

function fileList(given) {
  const files = element(given);
  if (!files) return [];
  if (files.files) return Array.from(files.files);
  if (typeof files.length === "number") return Array.from(files);
  return [files];
}

/// sendFile's three steps for each file: announce it (`request` calls the API), PUT it to
/// storage with the presigned request answered (`put`: its size and type are signed, so
/// storage takes nothing else), then post it as a `File` message. The posted messages.
/// Refusals carry the server's texts ("The file sent is an invalid type.", "The file size
/// exceeds the limit.", "The number of uploads is exceeded."). The console uses it too.
export async function sendFiles(files, chatId, request, put) {
  const list = fileList(files);
  if (!list.length) throw new Error(NO_FILES);
  const messages = [];
  for (const file of list) {
    const body = { name: file.name, size: file.size, type: file.type || "application/octet-stream" };
    const { file: announced, upload } = await request("POST", `/chats/${chatId}/files`, body);
    await put(upload, file);
    const posted = await request("POST", `/chats/${chatId}/files/${encodeURIComponent(announced.fileId)}`);
    messages.push(posted.message);
  }
  return messages;
}

/// A presigned request made as signed: its headers but the length, which the body sets.
export async function putFile(fetch, upload, file) {
  const headers = Object.fromEntries(Object.entries(upload.headers ?? {}).filter(([k]) => k !== "content-length" && k !== "host"));
  const response = await fetch(upload.url, { method: upload.method, headers, body: file });
  if (!response.ok) throw Object.assign(new Error(`The file could not be stored (HTTP ${response.status}).`), { status: response.status });
  return response;
}

/// Opens a download link in a page (nothing outside one).
export function saveLink(url, name) {
  const page = globalThis.document;
  if (!page?.createElement) return;
  const link = Object.assign(page.createElement("a"), { href: url, download: name, rel: "noopener" });
  page.body.appendChild(link);
  link.click();
  link.remove();
}

/// A customer's export (administrators) as one document: every page of
/// `GET /customers/{id}/export` (each under Lambda's 6 MB) until `next` is null, a chat
/// continued on a later page joined to its first part. `request(method, path)` calls the API.
export async function exportCustomer(request, customerId) {
  const path = `/customers/${encodeURIComponent(customerId)}/export`;
  const whole = await request("GET", path);
  for (let next = whole.next; next != null;) {
    const page = await request("GET", `${path}?cursor=${encodeURIComponent(next)}`);
    for (const part of page.chats) {
      const last = whole.chats[whole.chats.length - 1];
      if (part.continued && last?.chat.chatId === part.chat.chatId) {
        last.messages.push(...part.messages);
        last.files.push(...part.files);
      } else {
        whole.chats.push(part);
      }
    }
    next = page.next;
  }
  delete whole.next;
  for (const part of whole.chats) delete part.continued;
  return whole;
}
