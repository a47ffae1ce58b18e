/// The gateway's own HTTP/1 parser, for the one place its cost matters: the proxy's hot path.
///
/// Everything else (the registry, the API, probes) keeps NIO's parser. See
/// `docs/architecture.md` for the conditions it lives under.
public enum HTTP1 {}
