// describe/it for Deno on top of Deno.test, so shared suites run unchanged.
// Nested describe names join with " > " like the other runners print them.
const prefix: string[] = [];

export function describe(name: string, body: () => void): void {
  prefix.push(name);
  try {
    body();
  } finally {
    prefix.pop();
  }
}

export function it(name: string, body: () => unknown | Promise<unknown>): void {
  Deno.test({
    name: [...prefix, name].join(" > "),
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      await body();
    },
  });
}

it.skip = (name: string, body: () => unknown | Promise<unknown>): void => {
  Deno.test({
    name: [...prefix, name].join(" > "),
    ignore: true,
    fn: async () => void (await body()),
  });
};
