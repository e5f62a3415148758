#pragma once

// Forward declarations and the type-ID block of the actor layer. Message payloads are
// plain structs (model records plus a few actor-layer structs in messages.hpp); their
// inspect overloads live in messages.hpp. apps/ registers the block once with
// cfg.add_message_types<caf::id_block::steward>().

#include "actors/atoms.hpp"

#include "model/job_store.hpp"
#include "model/records.hpp"
#include "model/retry_policy.hpp"

#include <caf/fwd.hpp>
#include <caf/type_id.hpp>

namespace steward {

struct run_options;
struct task_outcome;
struct task_end;
struct supervisor_status;

}  // namespace steward

CAF_BEGIN_TYPE_ID_BLOCK(steward, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(steward, (steward::model::task_record))
  CAF_ADD_TYPE_ID(steward, (steward::model::job_record))
  CAF_ADD_TYPE_ID(steward, (steward::model::task_update))
  CAF_ADD_TYPE_ID(steward, (steward::model::job_update))
  CAF_ADD_TYPE_ID(steward, (steward::model::job_store::candidate))
  CAF_ADD_TYPE_ID(steward, (steward::model::job_store::job_snapshot))
  CAF_ADD_TYPE_ID(steward, (steward::model::retry_policy))
  CAF_ADD_TYPE_ID(steward, (steward::run_options))
  CAF_ADD_TYPE_ID(steward, (steward::task_outcome))
  CAF_ADD_TYPE_ID(steward, (steward::task_end))
  CAF_ADD_TYPE_ID(steward, (steward::supervisor_status))

CAF_END_TYPE_ID_BLOCK(steward)
