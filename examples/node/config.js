// wasi:config/store@0.2.0-draft-2024-09-27 over environment variables. The component
// asks for its settings in lower case (`entra_identity_cache_key`), as Spin variables
// are named; a Node deployment keeps them in its environment in upper case.

const variable = (key) => key.toUpperCase();

/** The config store over `env` (default: this process's environment). */
export function createConfig(env = process.env) {
  return {
    get(key) {
      return env[variable(key)];
    },
    // Only the component's own settings: the rest of the environment is not its business.
    getAll() {
      return Object.entries(env).filter(([name]) => name.startsWith('ENTRA_IDENTITY_'))
        .map(([name, value]) => [name.toLowerCase(), value]);
    },
  };
}
