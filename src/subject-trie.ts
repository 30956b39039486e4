/**
 * Subjects by token, so a wildcard filter visits only the subjects it can
 * match: `orders.*.7` looks at `orders`, then each of its children, then one
 * child of each, instead of testing every subject of the stream. Values sit
 * on the node of their subject's last token. Nodes are plain objects with a
 * Map of children created on first use; a node left with neither value nor
 * children is pruned on removal.
 */

interface TrieNode<V> {
  children: Map<string, TrieNode<V>> | null;
  subject: string | null;
  value: V | undefined;
}

function newNode<V>(): TrieNode<V> {
  return { children: null, subject: null, value: undefined };
}

export class SubjectTrie<V> {
  private root: TrieNode<V> = newNode();

  set(subject: string, value: V): void {
    let node = this.root;
    for (const token of subject.split(".")) {
      node.children ??= new Map();
      let next = node.children.get(token);
      if (next === undefined) {
        next = newNode();
        node.children.set(token, next);
      }
      node = next;
    }
    node.subject = subject;
    node.value = value;
  }

  delete(subject: string): void {
    const tokens = subject.split(".");
    const path: TrieNode<V>[] = [this.root];
    for (const token of tokens) {
      const next = path[path.length - 1].children?.get(token);
      if (next === undefined) return;
      path.push(next);
    }
    const leaf = path[path.length - 1];
    leaf.subject = null;
    leaf.value = undefined;
    for (let i = path.length - 1; i > 0; i--) {
      const node = path[i];
      if (node.subject !== null || (node.children !== null && node.children.size > 0)) break;
      path[i - 1].children?.delete(tokens[i - 1]);
    }
  }

  clear(): void {
    this.root = newNode();
  }

  /** Calls `visit` for every subject matching the filter's tokens (`*` one token, `>` the rest). */
  forEachMatch(tokens: readonly string[], visit: (subject: string, value: V) => void): void {
    this.walk(this.root, tokens, 0, visit);
  }

  private walk(
    node: TrieNode<V>,
    tokens: readonly string[],
    depth: number,
    visit: (subject: string, value: V) => void,
  ): void {
    if (depth === tokens.length) {
      if (node.subject !== null) visit(node.subject, node.value as V);
      return;
    }
    const children = node.children;
    if (children === null) return;
    const token = tokens[depth];
    if (token === ">") {
      for (const child of children.values()) this.everything(child, visit);
    } else if (token === "*") {
      for (const child of children.values()) this.walk(child, tokens, depth + 1, visit);
    } else {
      const child = children.get(token);
      if (child !== undefined) this.walk(child, tokens, depth + 1, visit);
    }
  }

  private everything(node: TrieNode<V>, visit: (subject: string, value: V) => void): void {
    if (node.subject !== null) visit(node.subject, node.value as V);
    if (node.children !== null)
      for (const child of node.children.values()) this.everything(child, visit);
  }
}
