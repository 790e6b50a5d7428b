// Plugins whose module is imported on first use: the decoder and patcher registries list every
// plugin by name and wire id up front, and an apply imports only the ones its package uses.

/** What a registry knows of a plugin before loading it. */
export interface PluginId {
  readonly name: string;
  readonly wireId: number;
}

/**
 * A memoized `load`: the first call imports the plugin, every call gets that one instance. The
 * loaded plugin must be the one the registry listed (same name and wire id), else it is a bug.
 */
export function loadedOnFirstUse<P extends PluginId>(id: PluginId, load: () => Promise<P>): () => Promise<P> {
  let loaded: Promise<P> | undefined;
  const checked = async (): Promise<P> => {
    const plugin = await load();
    if (plugin.name !== id.name || plugin.wireId !== id.wireId)
      throw new Error(
        `plugin registry: ${id.name} (wire id ${id.wireId}) loaded ${plugin.name} (wire id ${plugin.wireId})`,
      );
    return plugin;
  };
  return () => (loaded ??= checked());
}
