// A node:test reporter that lists the `todo` tests that passed, one per line
// ("<file>\t<test name>"). scripts/run-tests.mjs installs it beside the usual reporter and
// fails the run when the list is not empty: a todo that passes is either fixed (make it an
// ordinary test) or no longer tests what its reason says.
export default async function* todoReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass') continue;
    const { todo, name, file } = event.data;
    if (todo === undefined || todo === false) continue;
    yield `${file ?? '?'}\t${name}${typeof todo === 'string' ? ` (todo: ${todo})` : ''}\n`;
  }
}
