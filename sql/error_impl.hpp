#pragma once

#include <pqxx/except>

namespace steward::sql {

template <class F>
auto translate_errors(F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const pqxx::broken_connection& e) {
    throw error(errc::unavailable, e.what());
  } catch (const pqxx::sql_error& e) {
    throw error(errc::sql_failed, e.what(), e.sqlstate());
  } catch (const pqxx::failure& e) {
    throw error(errc::unavailable, e.what());
  }
}

}  // namespace steward::sql
