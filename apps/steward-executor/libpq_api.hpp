#pragma once

// The libpq functions steward-executor calls directly (notice fields, per-statement
// command tags, asynchronous queries and PQcancel are not reachable through libpqxx).
//
// libpq is loaded into this binary as a dependency of libpqxx, but the build names only
// libpqxx on the link line, and the linker does not resolve symbols through a library's
// own dependencies. So the functions are looked up at start-up in the already loaded
// libpq, with their exact types taken from libpq-fe.h. Linking libpq explicitly (adding
// it to the steward_pqxx interface target) would let this file go away: call sites would
// drop the `pq.` prefix and nothing else.

#include <libpq-fe.h>

#include <dlfcn.h>

#include <stdexcept>
#include <string>

namespace steward::executor {

#define STEWARD_LIBPQ_FUNCTIONS(X) \
  X(PQconninfoParse)               \
  X(PQconninfoFree)                \
  X(PQconnectStartParams)          \
  X(PQconnectPoll)                 \
  X(PQstatus)                      \
  X(PQsocket)                      \
  X(PQerrorMessage)                \
  X(PQfinish)                      \
  X(PQbackendPID)                  \
  X(PQdb)                          \
  X(PQuser)                        \
  X(PQsetNoticeReceiver)           \
  X(PQgetCancel)                   \
  X(PQfreeCancel)                  \
  X(PQcancel)                      \
  X(PQsendQuery)                   \
  X(PQsendQueryParams)             \
  X(PQsetSingleRowMode)            \
  X(PQconsumeInput)                \
  X(PQisBusy)                      \
  X(PQgetResult)                   \
  X(PQresultStatus)                \
  X(PQresultErrorField)            \
  X(PQcmdStatus)                   \
  X(PQntuples)                     \
  X(PQnfields)                     \
  X(PQgetvalue)                    \
  X(PQclear)                       \
  X(PQgetCopyData)                 \
  X(PQputCopyEnd)                  \
  X(PQfreemem)                     \
  X(PQtransactionStatus)

struct libpq_api {
#define STEWARD_LIBPQ_MEMBER(name) decltype(&::name) name = nullptr;
  STEWARD_LIBPQ_FUNCTIONS(STEWARD_LIBPQ_MEMBER)
#undef STEWARD_LIBPQ_MEMBER

  /// Resolves every function; throws std::runtime_error naming the first one missing.
  static libpq_api load() {
    void* lib = ::dlopen("libpq.so.5", RTLD_NOW | RTLD_NOLOAD);
    if (lib == nullptr)
      lib = ::dlopen("libpq.so.5", RTLD_NOW);
    if (lib == nullptr)
      throw std::runtime_error(std::string("cannot load libpq.so.5: ") + ::dlerror());
    libpq_api api;
#define STEWARD_LIBPQ_RESOLVE(name)                                               \
  api.name = reinterpret_cast<decltype(&::name)>(::dlsym(lib, #name));            \
  if (api.name == nullptr)                                                        \
    throw std::runtime_error("libpq.so.5 lacks " #name);
    STEWARD_LIBPQ_FUNCTIONS(STEWARD_LIBPQ_RESOLVE)
#undef STEWARD_LIBPQ_RESOLVE
    return api;
  }
};

}  // namespace steward::executor
