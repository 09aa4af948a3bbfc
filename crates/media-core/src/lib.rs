//! Sans-IO selective forwarding unit built on str0m.
