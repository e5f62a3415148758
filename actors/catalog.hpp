#pragma once

#include "actors/actors.hpp"

#include "model/job_store.hpp"

#include <functional>
#include <memory>

namespace steward {

/// Makes the store a catalog actor works on (e.g. connects a sql::pg_job_store). Called
/// lazily on the first request and again after the connection was found broken; may
/// throw sql::error.
using store_factory = std::function<std::shared_ptr<model::job_store>()>;

struct catalog_state {
  static inline const char* name = "steward.catalog";
  store_factory make_store;
  std::shared_ptr<model::job_store> store;
};

/// The catalog actor. Spawn it `caf::detached` in the daemon (its calls block); tests
/// spawn it on the test scheduler over a memory_job_store.
catalog_actor::behavior_type catalog(catalog_actor::stateful_pointer<catalog_state> self,
                                     store_factory make_store);

}  // namespace steward
