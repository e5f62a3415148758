# Every dependency comes from Debian 12's packages (see scripts/install-deps).
find_package(Threads REQUIRED)
find_package(fmt 9 REQUIRED CONFIG)
find_package(spdlog REQUIRED CONFIG)
find_package(tomlplusplus REQUIRED CONFIG)
find_package(CLI11 REQUIRED CONFIG)
find_package(Boost 1.74 REQUIRED CONFIG COMPONENTS filesystem)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)

# libcaf-dev ships neither a CMake config nor a .pc file.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
add_library(CAF::core UNKNOWN IMPORTED)
set_target_properties(CAF::core PROPERTIES
  IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES Threads::Threads)

# Debian's libpqxx 6.4.5 is built without PQXX_HAVE_OPTIONAL; std::optional reads need it.
add_library(steward_pqxx INTERFACE)
target_link_libraries(steward_pqxx INTERFACE PkgConfig::PQXX)
target_compile_definitions(steward_pqxx INTERFACE PQXX_HAVE_OPTIONAL=1)
