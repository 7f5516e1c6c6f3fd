'use strict';
/**
 * Shared triggers: the JS half of the trigger hub (src/hub/ is the Rust half).
 *
 * lib/operation.js hands a subscription here when the app's `shareKey`
 * returned a string for it. Subscriptions with the same schema, share key, document text,
 * operation name and variables join one trigger, across connections (the text, not just
 * the document's shape: the locations in a result's errors are the client's own). The first
 * one starts the source stream (`context()` and graphql `subscribe()` run once); each
 * event is executed once, passed to `onNext` once, serialized once and crosses into Rust
 * once (`triggerNext`), where the hub writes the same bytes to every subscriber with only
 * its id framed around them. Later subscribers attach without any execution; when the last
 * one leaves, the source iterator's `return()` is called.
 *
 * Hooks, for shared subscriptions:
 * - per subscriber: onSubscribe, shareKey, onOperation (the first subscriber's return
 *   value may replace the stream, as in graphql-ws; later ones' is ignored), onComplete
 *   (when the subscriber leaves: client `complete`, socket closed, or the stream ended);
 * - once per trigger: context (with the first subscriber's ctx), subscribe, onNext and
 *   onError, called with a {@link TriggerContext} instead of a connection's ctx and the id
 *   `trigger:<n>`.
 * A hook that throws while the trigger starts closes every attached subscriber's
 * connection with 4500, as it would have closed each one's unshared.
 *
 * With a `jsonMessageReplacer` (`deps.framed`), which sees whole messages and so may look
 * at the id, each event is still executed once, but its message is written per subscriber
 * in JS (lib/messages.js `Sender`) and the hub is not used.
 *
 * Projected triggers (lib/projected-triggers.js) live in the same registry and use the
 * same subscribers and leaving; what differs is where their events come from.
 * @module subwire/lib/shared-triggers
 */

const { nextPayload } = require('./next-payload.js');
const { isAsyncIterable } = require('./util.js');
const { Trigger, SharedSubscriber, stableJson } = require('./trigger.js');
const { Projector } = require('./projected-triggers.js');
const { executeEvents } = require('./loaders.js');

/** @typedef {import('./connection.js').Conn} Conn */
/** @typedef {import('./connection.js').Op} Op */
/** @typedef {import('./trigger.js').TriggerContext} TriggerContext */

/**
 * What a registry needs of its server, all given at construction.
 * @typedef {{ srv: import('./server.js').SessionApi, graphql: typeof import('graphql'),
 *   options: import('../index').ServerOptions, stringify: (v: unknown) => string,
 *   toGraphQLError: (e: unknown) => import('graphql').GraphQLError,
 *   internalError: (c: Conn, err: unknown) => void, released: (c: Conn, op: Op) => void,
 *   framed: import('./messages.js').Sender | null, loaders: import('./loaders.js').Loaders | null,
 *   cohorts: import('./executed-triggers.js').ExecutedTriggers | null }} RegistryDeps
 *   `framed`: with a replacer, the Sender that writes each subscriber's message (no hub);
 *   `released`: a subscriber left (its operation is over);
 *   `cohorts`: the executed groups, when triggers may run in them (graphql-js's own
 *   subscribe, no onOperation)
 */

/** The shared and projected triggers of one server. */
class Registry {
  /** @param {RegistryDeps} deps */
  constructor(deps) {
    this.deps = deps;
    /** @type {WeakMap<object, Map<string, Trigger>>} */
    this.bySchema = new WeakMap();
    /** @type {WeakMap<object, string>} printed text of documents without a source */
    this.printed = new WeakMap();
    this.nextId = 1;
    this.live = 0;
    /** Subscribers attached now, by kind of trigger (metrics' subscriptions by path). */
    this.attached = { shared: 0, projected: 0 };
    this.projector = new Projector(this);
  }

  /** Projected events that graphql-js had to execute. */
  get fallbacks() {
    return this.projector.fallbacks;
  }

  /**
   * What identifies a document in a trigger key: its source text (errors' locations point
   * into it), or, for one built without locations, its printed form.
   * @param {import('graphql').DocumentNode} document
   */
  documentKey(document) {
    const body = document.loc?.source?.body;
    if (typeof body === 'string') return `L${body}`;
    let text = this.printed.get(document);
    if (text === undefined) {
      text = `P${this.deps.graphql.print(document)}`;
      this.printed.set(document, text);
    }
    return text;
  }

  /** @param {any} execArgs */
  variablesKey(execArgs) {
    return stableJson(execArgs.variableValues ?? {});
  }

  /** The schema's triggers by key. @param {object} schema @returns {Map<string, Trigger>} */
  triggersOf(schema) {
    let triggers = this.bySchema.get(schema);
    if (!triggers) this.bySchema.set(schema, (triggers = new Map()));
    return triggers;
  }

  /** A new trigger under `key`. @param {string} key @param {string} shareKey @param {any} execArgs */
  create(key, shareKey, execArgs) {
    const t = new Trigger(this, this.nextId++, key, shareKey, execArgs);
    this.triggersOf(execArgs.schema).set(key, t);
    this.live++;
    return t;
  }

  /**
   * Attaches operation `op` of connection `c` to the trigger for its key, starting the
   * trigger if it is the first. Returns at once; the op lives until it leaves.
   * @param {any} c @param {any} op @param {any} payload the subscribe message's payload
   * @param {any} execArgs @param {string} shareKey
   */
  join(c, op, payload, execArgs, shareKey) {
    const key = [shareKey, execArgs.operationName ?? '', this.variablesKey(execArgs), this.documentKey(execArgs.document)].join('\0');
    let t = this.triggersOf(execArgs.schema).get(key);
    const first = !t;
    if (!t) t = this.create(key, shareKey, execArgs);
    const sub = this.attach(t, c, op, payload);
    if (first) this.start(t, sub, payload).catch((err) => this.fail(t, err));
    else if (this.deps.options.onOperation) this.operation(t, sub, payload).catch((err) => this.deps.internalError(c, err));
  }

  /**
   * The subscriber takes `op`'s place in its connection; the hub gets its serial, so it
   * never reaches a later operation that reuses the id. The connection now has hub
   * subscribers: its close must tell the hub (`triggerRemoveClient`).
   * @param {Trigger} t @param {import('./connection.js').Conn} c @param {{ id: string, serial?: number }} op @param {any} payload
   */
  attach(t, c, op, payload) {
    const serial = op.serial ?? 0;
    const sub = new SharedSubscriber(t, c, op.id, serial, this.deps.options.onComplete ? payload : null);
    t.subscribers.add(sub);
    this.attached[t.projection ? 'projected' : 'shared'] += 1;
    c.setOp(sub);
    if (!this.deps.framed) {
      // The connection now holds hub subscriptions: its close must tell the hub.
      c.shared = true;
      this.deps.srv.triggerAdd(t.id, c.conn, op.id, c.legacy, serial);
    }
    return sub;
  }

  /**
   * Attaches an operation whose result is a projection of its topics' payloads (see
   * lib/projected-triggers.js).
   * @param {any} c @param {any} op @param {any} payload @param {any} execArgs
   * @param {readonly string[]} topics @param {import('./projection.js').Projection} projection
   */
  joinProjected(c, op, payload, execArgs, topics, projection) {
    this.projector.join(c, op, payload, execArgs, topics, projection);
  }

  /**
   * onOperation for a subscriber that joined a running (or starting) trigger.
   * @param {Trigger} t @param {SharedSubscriber} sub @param {any} payload its subscribe payload
   */
  async operation(t, sub, payload) {
    while (!t.source && !t.ended) await new Promise((r) => setImmediate(r));
    if (t.ended || !t.subscribers.has(sub)) return;
    const { ctx } = sub.c;
    await this.deps.options.onOperation?.(ctx, sub.id, payload, t.execArgs, t.source);
  }

  /**
   * Runs the trigger's source stream: execute, serialize and hand over each event once.
   * @param {Trigger} t @param {SharedSubscriber} first @param {any} payload the first subscriber's subscribe payload
   */
  async start(t, first, payload) {
    const { graphql, options, toGraphQLError } = this.deps;
    const { execArgs } = t;
    const { ctx } = first.c;
    if (!('contextValue' in execArgs)) {
      execArgs.contextValue =
        typeof options.context === 'function' ? await options.context(ctx, first.id, payload, execArgs) : options.context;
    }
    const { loaders, cohorts } = this.deps;
    /** With loaders and the app's own subscribe: a new bag for each result. @type {(() => void) | null} */
    let rotate = null;
    /** @type {any} */
    let result;
    if (!options.subscribe) {
      // graphql-js's subscribe() in its two steps: a subwire topic stream makes the trigger
      // a cohort of an executed group (unless onOperation may replace the stream); any
      // other has each event executed here, with the event's bag (lib/loaders.js)
      loaders?.check(execArgs.contextValue);
      const stream = await graphql.createSourceEventStream(execArgs);
      if (cohorts?.accepts(stream)) return this.startCohort(t, payload, execArgs, stream);
      result = executeEvents(graphql, loaders, execArgs, stream);
    } else if (!loaders) result = await options.subscribe(execArgs);
    else {
      // the app's own subscribe: a new bag for each result (lib/loaders.js)
      loaders.check(execArgs.contextValue);
      const r = loaders.rolling(execArgs.contextValue);
      rotate = r.rotate;
      result = await options.subscribe({ ...execArgs, contextValue: r.context });
    }
    const replaced = await options.onOperation?.(ctx, first.id, payload, execArgs, result);
    if (replaced) result = replaced;
    t.source = result;
    if (!isAsyncIterable(result)) {
      // An ExecutionResult (e.g. the subscribe resolver failed): every subscriber gets it.
      if (!t.ended) this.next(t, nextPayload(result));
      return this.end(t, 'complete');
    }
    if (t.ended) {
      // Everyone left while it started.
      await /** @type {AsyncGenerator} */ (result).return?.(undefined);
      return;
    }
    const name = `trigger:${t.id}`;
    // (onNext and onError get the trigger's context, as SubwireOptions.shareKey documents)
    const tctx = /** @type {any} */ (t.ctx);
    try {
      for await (const value of result) {
        rotate?.();
        const maybe = await options.onNext?.(tctx, name, payload, execArgs, /** @type {any} */ (value));
        if (t.ended) break;
        this.next(t, maybe || nextPayload(value));
      }
    } catch (err) {
      if (t.ended) return;
      const errors = [toGraphQLError(err)];
      const maybe = await options.onError?.(tctx, name, payload, errors);
      return this.end(t, 'error', maybe || errors);
    }
    return this.end(t, 'complete');
  }

  /**
   * The trigger's events are executed by an executed group (lib/executed-triggers.js), once
   * per event for all its subscribers, with the other subscriptions of its topics in the
   * same turn; `stream` (a subwire topic iterator) is ended. Returning the source (the last
   * subscriber out) takes the cohort out of its group.
   * @param {Trigger} t @param {any} payload the first subscriber's subscribe payload @param {any} execArgs
   * @param {any} stream
   */
  async startCohort(t, payload, execArgs, stream) {
    if (t.ended) {
      // everyone left while it started
      await stream.return();
      return;
    }
    const cohorts = /** @type {import('./executed-triggers.js').ExecutedTriggers} */ (this.deps.cohorts);
    const cohort = cohorts.joinCohort(
      {
        ctx: t.ctx,
        name: `trigger:${t.id}`,
        ended: () => t.ended,
        next: (result) => this.next(t, result),
        error: (errors) => void this.end(t, 'error', errors),
        fail: (err) => this.fail(t, err),
      },
      payload,
      execArgs,
      stream,
    );
    t.source = { return: () => cohorts.leave(cohort) };
  }

  /** A hook threw while the trigger started: 4500 for every attached connection. @param {Trigger} t @param {unknown} err */
  fail(t, err) {
    const subs = [...t.subscribers];
    this.end(t, null);
    for (const sub of subs) this.deps.internalError(sub.c, err);
  }

  /** One result to every subscriber. @param {Trigger} t @param {unknown} result */
  next(t, result) {
    const { srv, stringify, framed } = this.deps;
    if (!framed) return srv.triggerNext(t.id, stringify(result));
    for (const sub of t.subscribers) framed.next(sub.c, sub.id, sub.serial, result);
  }

  /**
   * The source ended (`complete`), failed (`error`, with the errors) or was abandoned
   * (`null`): the hub (or, framed, JS) tells every subscriber; each leaves.
   * @param {Trigger} t @param {'complete' | 'error' | null} how @param {unknown} [errors]
   */
  async end(t, how, errors) {
    if (t.ended) return;
    this.detach(t);
    const { srv, stringify, framed } = this.deps;
    if (framed && how) {
      for (const sub of t.subscribers) {
        if (how === 'complete') framed.complete(sub.c, sub.id, sub.serial);
        else framed.error(sub.c, sub.id, sub.serial, errors);
      }
    } else if (how === 'complete') srv.triggerComplete(t.id);
    else if (how === 'error') srv.triggerError(t.id, stringify(errors));
    await Promise.all([...t.subscribers].map((sub) => this.leave(sub, false)));
  }

  /** @param {Trigger} t */
  detach(t) {
    t.ended = true;
    this.live--;
    if (t.projected) this.projector.stop(t);
    const triggers = this.bySchema.get(t.execArgs.schema);
    if (triggers?.get(t.key) === t) triggers.delete(t.key);
  }

  /**
   * A subscriber leaves: the hub forgets it (unless `tellHub` is false: the trigger ended
   * or the connection's close already told it), onComplete runs, and the last one out
   * stops the source.
   * @param {SharedSubscriber} sub @param {boolean} tellHub
   */
  leave(sub, tellHub) {
    if (sub.left) return sub.left;
    const t = sub.trigger;
    const { c } = sub;
    t.subscribers.delete(sub);
    if (tellHub && !c.closed && !this.deps.framed) this.deps.srv.triggerRemove(t.id, c.conn, sub.id);
    if (t.subscribers.size === 0 && !t.ended) {
      this.detach(t);
      const source = t.source;
      if (source && typeof source.return === 'function') {
        Promise.resolve()
          .then(() => source.return(undefined))
          .catch((err) => console.error('A shared subscription source threw from return().', err));
      }
    }
    sub.left = (async () => {
      try {
        await this.deps.options.onComplete?.(c.ctx, sub.id, sub.payload);
      } finally {
        this.attached[t.projection ? 'projected' : 'shared'] -= 1;
        this.deps.released(c, sub);
      }
    })();
    return sub.left;
  }
}

module.exports = { Registry };
