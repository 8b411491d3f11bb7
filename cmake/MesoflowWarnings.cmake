# Compile options shared by every mesoflow target: the warning set, errors
# when MESOFLOW_WERROR is on (the test command and CI turn it on; a user's or
# packager's build at another optimisation level or with another compiler
# must not fail on a warning), and the sanitizer build instruments everything
# (libraries, binaries and tests).
add_library(mesoflow_options INTERFACE)
if(MESOFLOW_WERROR)
  target_compile_options(mesoflow_options INTERFACE -Werror)
endif()
target_compile_options(mesoflow_options INTERFACE
  -Wall -Wextra -Wpedantic
  -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
  -Wnull-dereference -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough
  -Wmisleading-indentation -Wduplicated-cond -Wlogical-op)
add_library(mesoflow_sanitize INTERFACE)
if(MESOFLOW_SANITIZE)
  target_compile_options(mesoflow_sanitize INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
    # The instrumentation misleads GCC 12's flow analysis into false reports
    # inside /usr/include: Beast's boost::optional returns and std::regex's
    # std::function moves (-Wmaybe-uninitialized), std::string assignment
    # (-Wrestrict, GCC PR105329), Asio's coroutine frames, allocated and freed
    # by its own operator new/delete pair (-Wmismatched-new-delete, at -O1).
    # The optimised build keeps all three warnings.
    -Wno-maybe-uninitialized -Wno-restrict -Wno-mismatched-new-delete)
  target_link_options(mesoflow_sanitize INTERFACE -fsanitize=address,undefined)
endif()
target_link_libraries(mesoflow_options INTERFACE mesoflow_sanitize)

# Adds a mesoflow static library from a module folder.
function(mesoflow_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(mesoflow_${name} STATIC ${M_SOURCES})
  target_include_directories(mesoflow_${name} PUBLIC ${PROJECT_SOURCE_DIR}/include
                                                  PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(mesoflow_${name} PUBLIC mesoflow_options ${M_DEPS})
endfunction()
