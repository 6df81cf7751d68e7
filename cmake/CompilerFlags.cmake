# Warnings for our own targets, hardening for every target (style.md §1).
# CERTGATE_WERROR=OFF is for distribution builds with a newer compiler than
# CI's (packaging/rpm/certgate.spec): new warnings must not fail them.
option(CERTGATE_WERROR "Treat warnings in certgate's own code as errors" ON)
set(CERTGATE_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion)
if(CERTGATE_WERROR)
  list(APPEND CERTGATE_WARNINGS -Werror)
endif()

add_compile_options(-fstack-protector-strong -fstack-clash-protection -fPIE)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|amd64|AMD64")
  add_compile_options(-fcf-protection)
endif()
add_compile_definitions(_GLIBCXX_ASSERTIONS)
if(NOT CERTGATE_SANITIZE AND NOT CERTGATE_FUZZ)
  # _FORTIFY_SOURCE needs optimisation and does not mix with ASan.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3)
  else()
    add_compile_options(-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2)
  endif()
endif()
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
add_link_options(-pie -Wl,-z,relro,-z,now -Wl,--as-needed)

# GCC 12 at -O3 reports -Wrestrict / -Wstringop-overread / -overflow /
# -Warray-bounds inside libstdc++'s own std::string code inlined into ours
# (GCC bugs 105329, 105651, 106199; fixed in GCC 13). They stay warnings in
# Release builds with GCC 12 so -O3 builds (bench/) are not blocked by them;
# every other build keeps them as errors.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND CERTGATE_WARNINGS
       $<$<CONFIG:Release>:-Wno-error=restrict;-Wno-error=stringop-overread;-Wno-error=stringop-overflow;-Wno-error=array-bounds>)
endif()

# certgate_warnings(target): apply our warning set to a target we own.
function(certgate_warnings target)
  target_compile_options(${target} PRIVATE ${CERTGATE_WARNINGS})
endfunction()
