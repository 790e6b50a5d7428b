// loadedOnFirstUse: the registries' lazy plugins load once, share the instance, and refuse a
// module that is not the plugin the registry listed.
import { describe, expect, it } from 'vitest';
import { loadedOnFirstUse } from '../../src/model/loaded-on-first-use.js';
import { allDecoders } from '../../src/codecs/decoder-registry.js';
import { allPatchers } from '../../src/diff/patcher-registry.js';

describe('loadedOnFirstUse', () => {
  it('loads on the first call only, and every caller (concurrent ones too) gets the same instance', async () => {
    let loads = 0;
    const plugin = { name: 'p', wireId: 7 };
    const get = loadedOnFirstUse({ name: 'p', wireId: 7 }, async () => {
      loads++;
      return plugin;
    });
    expect(loads).toBe(0);
    const [a, b] = await Promise.all([get(), get()]);
    expect(await get()).toBe(plugin);
    expect([a, b, loads]).toEqual([plugin, plugin, 1]);
  });

  it('refuses a loaded plugin with another name or wire id', async () => {
    await expect(loadedOnFirstUse({ name: 'p', wireId: 7 }, async () => ({ name: 'q', wireId: 7 }))()).rejects.toThrow(
      /p \(wire id 7\) loaded q/,
    );
    await expect(loadedOnFirstUse({ name: 'p', wireId: 7 }, async () => ({ name: 'p', wireId: 8 }))()).rejects.toThrow(
      /loaded p \(wire id 8\)/,
    );
  });

  it('every registered decoder and patcher loads the module of its own name', async () => {
    const outcome = (p: Promise<unknown>) =>
      p.then(
        () => 'done',
        (e: Error) => e.message,
      );
    // An empty blob for an empty output: decoded, or refused by the plugin itself, never by the registry.
    for (const d of allDecoders())
      expect(await outcome(d.decode(new Uint8Array(0), 0)), d.name).not.toMatch(/registry/);
    for (const p of allPatchers())
      expect(await outcome(p.patch(new Uint8Array(0), new Uint8Array(0), 0)), p.name).not.toMatch(/registry/);
  });
});
