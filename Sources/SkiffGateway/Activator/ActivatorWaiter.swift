import SkiffBalancing

/// A request waiting in an ``Activator``'s queue (in the gateway, the client connection's
/// ``ProxyHandler``). It is told on its own event loop, where it was queued.
protocol ActivatorWaiter: AnyObject {
    /// The activator hands the request for `ticket` an instance whose capacity was taken for
    /// it, or nil: its route moved (a traffic change, the revision left the table) and it
    /// must be routed again.
    ///
    /// The hand-off crosses event loops, so the request may have ended on the way (it timed
    /// out, its client left, its connection has a new request). Returns false when `ticket`
    /// is not what the waiter waits for any more: the activator then gives the capacity back.
    func activator(_ activator: Activator, handedOver slot: BackendSlot?, for ticket: ActivatorTicket) -> Bool
}
