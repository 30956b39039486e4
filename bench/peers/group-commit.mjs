/**
 * Group commit by hand, for peers whose API offers none (better-sqlite3 commits
 * synchronously, a bare file has only fsync): writers queue their message and
 * await; one commit takes everything queued, and while it runs the next batch
 * gathers. This is what a competent user of such a store writes when many
 * callers each need their write durable before they go on (W8b); with one
 * writer (W8a) every batch holds one message.
 *
 * The first commit waits one `setImmediate`, so writers started in the same
 * turn share it rather than the first going alone.
 */
export function groupCommit(commit) {
  let queue = [];
  let scheduled = false;

  async function drain() {
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      try {
        await commit(batch.map((w) => w.item));
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    scheduled = false;
  }

  return (item) =>
    new Promise((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(drain);
      }
    });
}
