# Warnings for our own targets, hardening for every target (style.md §1).
set(CERTGATE_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Werror)

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

# certgate_warnings(target): apply our warning set to a target we own.
function(certgate_warnings target)
  target_compile_options(${target} PRIVATE ${CERTGATE_WARNINGS})
endfunction()
