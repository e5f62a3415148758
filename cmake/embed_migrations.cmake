# Usage: cmake -DOUT=<file.cpp> -DDIR=<migrations dir> -P embed_migrations.cmake
# Writes a translation unit holding every migration (sorted by file name) as a string.
file(GLOB files RELATIVE ${DIR} ${DIR}/*.sql)
list(SORT files)
set(body "// generated from sql/migrations by cmake/embed_migrations.cmake; do not edit\n")
string(APPEND body "#include \"sql/migrations.hpp\"\n\nnamespace steward::sql {\n\n")
string(APPEND body "const std::vector<migration>& migrations() {\n  static const std::vector<migration> all{\n")
foreach(f IN LISTS files)
  file(READ ${DIR}/${f} text)
  string(APPEND body "    {\"${f}\", R\"__steward_sql__(${text})__steward_sql__\"},\n")
endforeach()
string(APPEND body "  };\n  return all;\n}\n\n}  // namespace steward::sql\n")
file(WRITE ${OUT}.tmp "${body}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
