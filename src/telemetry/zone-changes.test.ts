import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { countZoneChanges, type ZoneChangeKind } from './zone-changes.js';

/** A stand-in with private state, as the real control plane is a class. */
class Plane {
  #zones = new Set<string>();
  async createZone(_p: unknown, input: { name: string }): Promise<{ name: string }> {
    if (this.#zones.has(input.name)) throw new Error('conflict');
    this.#zones.add(input.name);
    return { name: input.name };
  }
  async changeRRsets(): Promise<string> {
    return 'changed';
  }
  async importZone(): Promise<void> {}
  async rollback(): Promise<void> {}
  async deleteZone(_p: unknown, name: string): Promise<void> {
    this.#zones.delete(name);
  }
  async getZone(_p: unknown, name: string): Promise<boolean> {
    return this.#zones.has(name);
  }
  readonly label = 'plane';
}

describe('countZoneChanges', () => {
  test('counts each zone-writing method by kind once it resolves, not when it rejects', async () => {
    const kinds: ZoneChangeKind[] = [];
    const p = countZoneChanges(new Plane(), (k) => kinds.push(k));
    assert.deepEqual(await p.createZone(null, { name: 'a.' }), { name: 'a.' });
    await assert.rejects(p.createZone(null, { name: 'a.' }), /conflict/);
    assert.equal(await p.changeRRsets(), 'changed');
    await p.importZone();
    await p.rollback();
    await p.deleteZone(null, 'a.');
    assert.deepEqual(kinds, ['create', 'change', 'import', 'rollback', 'delete']);
  });

  test('a change that changed nothing, or a dry run, is not counted', async () => {
    const kinds: ZoneChangeKind[] = [];
    const answers = [{ changed: false }, { changed: true, dryRun: true }, { changed: true }];
    const plane = {
      async changeRRsets(): Promise<object> {
        return answers.shift() ?? {};
      },
    };
    const p = countZoneChanges(plane, (k) => kinds.push(k));
    await p.changeRRsets();
    await p.changeRRsets();
    assert.deepEqual(kinds, []);
    await p.changeRRsets();
    assert.deepEqual(kinds, ['change']);
  });

  test('other members pass through, methods bound to the target (private fields work)', async () => {
    const kinds: ZoneChangeKind[] = [];
    const p = countZoneChanges(new Plane(), (k) => kinds.push(k));
    await p.createZone(null, { name: 'b.' });
    const { getZone } = p;
    assert.equal(await getZone(null, 'b.'), true);
    assert.equal(p.label, 'plane');
    assert.deepEqual(kinds, ['create']);
  });
});
