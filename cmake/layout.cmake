# SPDX-License-Identifier: Apache-2.0
# The component layout, written down where it is built and checked by the
# suite. A component is a folder with one static library:
#
#   forcetls_component(<target> <source>... [PUBLIC <dep>...] [PRIVATE <dep>...])
#
# creates the library from the sources of the current folder and links it.
# forcetls_write_layout() (at the end of the top CMakeLists.txt) writes
# build/layout.tsv: folder, library, what it links PUBLIC and PRIVATE. The test
# layout:includes (tests/layout/include_graph_test.py) reads it and fails when
# a file includes a header of a component, or of a system library (OpenSSL,
# Asio, libunbound, libcurl, libmilter, LMDB, yaml-cpp, libidn2), that its
# own component does not link, directly or through the PUBLIC links of its
# dependencies (a PRIVATE link stays inside its component): a
# wrong-way include fails the suite even where a header-only include would
# link.
function(forcetls_component target)
  cmake_parse_arguments(C "" "" "PUBLIC;PRIVATE" ${ARGN})
  add_library(${target} STATIC ${C_UNPARSED_ARGUMENTS})
  if(C_PUBLIC)
    target_link_libraries(${target} PUBLIC ${C_PUBLIC})
  endif()
  if(C_PRIVATE)
    target_link_libraries(${target} PRIVATE ${C_PRIVATE})
  endif()
  file(RELATIVE_PATH dir ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  list(JOIN C_PUBLIC " " public)
  list(JOIN C_PRIVATE " " private)
  set_property(GLOBAL APPEND PROPERTY FORCETLS_LAYOUT "${dir}\t${target}\t${public}\t${private}")
endfunction()

function(forcetls_write_layout)
  get_property(rows GLOBAL PROPERTY FORCETLS_LAYOUT)
  list(JOIN rows "\n" text)
  file(WRITE ${PROJECT_BINARY_DIR}/layout.tsv "${text}\n")
endfunction()
