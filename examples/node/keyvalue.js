// wasi:keyvalue@0.2.0-draft2 (store + atomics) over in-process Maps: what the identity
// component's shared token cache writes its encrypted entries, leases and remembered
// throttling into. Every component instance given the same `KeyValue` shares its
// buckets, as instances of one deployment share a Redis or a Spin store.

/** A `wasi:keyvalue/store` error variant, thrown the way jco turns into `err(...)`. */
export class KeyValueError extends Error {
  constructor(payload) {
    super(`wasi:keyvalue: ${payload.tag}${payload.val === undefined ? '' : `: ${payload.val}`}`);
    Object.defineProperty(this, 'payload', { value: payload });
  }
}

const noSuchStore = () => new KeyValueError({ tag: 'no-such-store' });

/** `cas-error` of `atomics.swap`: jco lowers the thrown `payload` as the error case. */
class CasError extends Error {
  constructor(payload) {
    super(`wasi:keyvalue: ${payload.tag}`);
    Object.defineProperty(this, 'payload', { value: payload });
  }
}

/**
 * Declared buckets, like a host's key-value configuration: opening another name is
 * `no-such-store`, so a typo in ENTRA_IDENTITY_CACHE_BUCKET is reported, not papered over.
 */
export function createKeyValue({ buckets = ['default'] } = {}) {
  // bucket name -> Map(key -> { value: Uint8Array, version: number })
  const data = new Map(buckets.map((name) => [name, new Map()]));
  // Bumped on every write, so a CAS detects any change since it read, even a write of
  // the same bytes back (ABA).
  let version = 0;

  class Bucket {
    #entries;
    constructor(entries) {
      this.#entries = entries;
    }
    /** Internal to this module: the map behind the resource. */
    static entries(bucket) {
      return bucket.#entries;
    }
    get(key) {
      const entry = this.#entries.get(key);
      return entry === undefined ? undefined : entry.value.slice();
    }
    set(key, value) {
      this.#entries.set(key, { value: Uint8Array.from(value), version: ++version });
    }
    delete(key) {
      this.#entries.delete(key);
    }
    exists(key) {
      return this.#entries.has(key);
    }
    // Every key in one page: the map is in memory, so there is no cursor to resume.
    listKeys(_cursor) {
      return { keys: [...this.#entries.keys()], cursor: undefined };
    }
  }

  class Cas {
    #entries;
    #key;
    #seen;
    constructor(entries, key) {
      this.#entries = entries;
      this.#key = key;
      this.#seen = entries.get(key);
    }
    static new(bucket, key) {
      return new Cas(Bucket.entries(bucket), key);
    }
    current() {
      return this.#seen === undefined ? undefined : this.#seen.value.slice();
    }
    /** Writes `value` only if the key still holds the entry this CAS read (or is still absent). */
    static swap(cas, value) {
      const now = cas.#entries.get(cas.#key);
      if (now?.version !== cas.#seen?.version) {
        throw new CasError({ tag: 'cas-failed', val: cas });
      }
      cas.#entries.set(cas.#key, { value: Uint8Array.from(value), version: ++version });
    }
  }

  const store = {
    Bucket,
    open(identifier) {
      const entries = data.get(identifier);
      if (entries === undefined) throw noSuchStore();
      return new Bucket(entries);
    },
  };

  const atomics = {
    Cas,
    // Counters as decimal text, as wasmtime's and Spin's stores keep them.
    increment(bucket, key, delta) {
      const entries = Bucket.entries(bucket);
      const text = entries.has(key) ? new TextDecoder().decode(entries.get(key).value) : '0';
      if (!/^-?[0-9]+$/.test(text)) {
        throw new KeyValueError({ tag: 'other', val: `value under '${key}' is not a number` });
      }
      const next = BigInt(text) + delta;
      if (next > 0x7fffffffffffffffn || next < -0x8000000000000000n) {
        throw new KeyValueError({ tag: 'other', val: `incrementing '${key}' overflows s64` });
      }
      entries.set(key, { value: new TextEncoder().encode(next.toString()), version: ++version });
      return next;
    },
    swap(cas, value) {
      Cas.swap(cas, value);
    },
  };

  /** What a bucket holds, for inspection: key -> a copy of the bytes. */
  function snapshot(name) {
    const entries = data.get(name);
    if (entries === undefined) throw noSuchStore();
    return new Map([...entries].map(([key, { value }]) => [key, value.slice()]));
  }

  return { store, atomics, snapshot };
}
