'use strict';
/**
 * The `loaders` option: one loader bag per published event, shared by every subscriber's
 * execution of that event, so their loads batch and cache together; a bag per operation
 * for queries and mutations.
 *
 * `loaders: { author: () => new DataLoader(batchFn), … }`: a bag has one lazy property per
 * name; reading it calls the factory once for that bag, so a bag holds only the loaders its
 * resolvers touched. Resolvers read `context.loaders.author`: each execution gets a context
 * object whose prototype is the one the app's `context` option built for that subscription
 * (every field reads through) and whose own `loaders` is the bag of the event being
 * executed. The app's object is never changed; one that already has `loaders` is refused
 * (`ERR_SUBWIRE_LOADERS_CONFLICT`), as is a context that is not an object.
 *
 * Which bag: the event's (lib/publish-events.js) when the value being executed can be
 * traced to its publish; otherwise a bag of its own (correct, not shared). A bag lives as
 * long as its event does (until the last execution that may use it has settled), and then
 * only as long as an execution still holds a context made with it.
 *
 * Used by lib/operation.js, lib/executed-triggers.js, lib/shared-triggers.js and
 * lib/projected-triggers.js.
 * @module subwire/lib/loaders
 */

const { codedError, invalidOption } = require('./errors.js');
const { eventOfValue, track } = require('./publish-events.js');
const { mapStream } = require('./execution.js');
const { isAsyncIterable } = require('./util.js');

/** @typedef {import('./publish-events.js').PublishEvent} PublishEvent */
/** @typedef {Record<string, () => unknown>} Factories */

/**
 * Checks the `loaders` option: undefined, or an object whose own enumerable values are
 * functions. @param {unknown} v
 */
function checkLoadersOption(v) {
  if (v === undefined) return;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw invalidOption('loaders must be an object of factories, e.g. { author: () => new DataLoader(batchFn) }');
  }
  for (const [name, f] of Object.entries(v)) {
    if (typeof f !== 'function') throw invalidOption(`loaders.${name} must be a function that makes a loader, got ${typeof f}`);
  }
}

/** @param {unknown} p */
const isPromise = (p) => typeof (/** @type {any} */ (p)?.then) === 'function';

/** One server's loaders: its bag class and the contexts that carry bags. */
class Loaders {
  /** @param {Factories} factories */
  constructor(factories) {
    const made = Symbol('made');
    /** One frozen object per event with a lazy getter per name. */
    class LoaderBag {
      constructor() {
        /** @type {Record<string, unknown>} */
        this[made] = Object.create(null);
        Object.freeze(this);
      }
    }
    for (const [name, factory] of Object.entries(factories)) {
      Object.defineProperty(LoaderBag.prototype, name, {
        enumerable: true,
        get() {
          const loaders = this[made];
          return name in loaders ? loaders[name] : (loaders[name] = factory());
        },
      });
    }
    this.Bag = LoaderBag;
    this.make = () => new LoaderBag();
    this.running = true;
    track(1);
  }

  /** A new bag (a query's, or an execution whose event is unknown). */
  bag() {
    return new this.Bag();
  }

  /** The bag of `ev`, or a new one when the event is unknown or gone. @param {PublishEvent | null} ev */
  bagOf(ev) {
    return (ev !== null ? ev.bagFor(this, this.make) : null) ?? new this.Bag();
  }

  /**
   * The app's context for a subscription, checked once when it is built: an object without
   * `loaders`, or undefined/null. @param {unknown} appContext
   */
  check(appContext) {
    if (appContext === undefined || appContext === null) return;
    if ((typeof appContext !== 'object' && typeof appContext !== 'function') || 'loaders' in /** @type {object} */ (appContext)) {
      throw codedError(
        'ERR_SUBWIRE_LOADERS_CONFLICT',
        typeof appContext !== 'object' && typeof appContext !== 'function'
          ? `with the loaders option the context must be an object (or undefined), got ${typeof appContext}`
          : 'the context already has a `loaders` field: with the loaders option subwire sets context.loaders to each event\'s bag; rename the field or drop the option',
      );
    }
  }

  /**
   * What an execution's resolvers get as context: the app's object as prototype and `bag`
   * as own `loaders`. @param {unknown} appContext @param {object} bag
   */
  context(appContext, bag) {
    const ctx = appContext === undefined || appContext === null ? {} : Object.create(/** @type {object} */ (appContext));
    ctx.loaders = bag;
    return ctx;
  }

  /**
   * The context for an operation whose executions subwire does not see (the app's own
   * `subscribe`): `loaders` is a bag that `rotate()` replaces after each result, so each
   * execution (graphql-js runs a subscription's one at a time) gets one of its own.
   * @param {unknown} appContext
   */
  rolling(appContext) {
    /** @type {object | null} */
    let bag = null;
    const ctx = appContext === undefined || appContext === null ? {} : Object.create(/** @type {object} */ (appContext));
    Object.defineProperty(ctx, 'loaders', { enumerable: true, get: () => (bag ??= this.bag()) });
    return { context: ctx, rotate: () => void (bag = null) };
  }

  /**
   * graphql-js `execute()` of one event's `value` for a subscription whose source subwire
   * cannot see into (withFilter, an app generator): the event is traced by the value and
   * held until the execution settles.
   * @param {typeof import('graphql')} graphql @param {any} execArgs @param {unknown} value
   */
  executeValue(graphql, execArgs, value) {
    const ev = eventOfValue(value);
    const held = ev !== null && ev.hold();
    let result;
    try {
      result = graphql.execute({ ...execArgs, rootValue: value, contextValue: this.context(execArgs.contextValue, this.bagOf(held ? ev : null)) });
    } catch (err) {
      if (held) /** @type {PublishEvent} */ (ev).release();
      throw err;
    }
    if (!held) return result;
    if (!isPromise(result)) {
      /** @type {PublishEvent} */ (ev).release();
      return result;
    }
    return /** @type {Promise<unknown>} */ (result).finally(() => /** @type {PublishEvent} */ (ev).release());
  }

  /** The server stopped: events are recorded only while a server with loaders runs. */
  close() {
    if (!this.running) return;
    this.running = false;
    track(-1);
  }
}

/**
 * A source stream's events executed as graphql-js `subscribe()` executes them (each value
 * through `execute()`, mapped by lib/execution.js `mapStream`), with loaders each by
 * `executeValue`; anything that is not a stream (an ExecutionResult) as it is. For sources
 * subwire cannot see into: lib/operation.js per subscriber, lib/shared-triggers.js per trigger.
 * @param {typeof import('graphql')} graphql @param {Loaders | null} loaders @param {any} execArgs
 * @param {unknown} stream what `createSourceEventStream` gave
 */
function executeEvents(graphql, loaders, execArgs, stream) {
  if (!isAsyncIterable(stream)) return stream;
  return mapStream(/** @type {AsyncIterable<unknown>} */ (stream), (value) =>
    loaders ? loaders.executeValue(graphql, execArgs, value) : graphql.execute({ ...execArgs, rootValue: value }));
}

/** The server's Loaders, or null without the option. @param {Factories | undefined} factories */
function loadersFor(factories) {
  return factories === undefined ? null : new Loaders(factories);
}

module.exports = { Loaders, loadersFor, checkLoadersOption, isPromise, executeEvents };
