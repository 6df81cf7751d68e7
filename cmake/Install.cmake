# Install rules for what the packages ship beyond the programs, their man
# pages and policy.yaml: systemd units, sysusers.d and tmpfiles.d entries and
# the example /etc/certgate/cafetch.yaml. Included from the top-level
# CMakeLists.txt after GNUInstallDirs and find_package(PkgConfig).
#
# The three directories are cache variables, so a package build can name its
# distribution's paths (the RPM spec passes %{_unitdir} and friends). Left
# empty, they come from systemd.pc when installing to /usr, and otherwise
# from CMAKE_INSTALL_PREFIX so that a /usr/local or staging install never
# writes outside its prefix.

set(CERTGATE_SYSTEMD_UNITDIR "" CACHE PATH "Where to install certgate's systemd units")
set(CERTGATE_SYSUSERSDIR "" CACHE PATH "Where to install the sysusers.d entry")
set(CERTGATE_TMPFILESDIR "" CACHE PATH "Where to install the tmpfiles.d entry")

# certgate_systemd_dir(out pkgconfig_variable fallback): `out` is the cache
# value if set, else systemd.pc's variable when the prefix is /usr, else
# fallback.
function(certgate_systemd_dir out pc_variable fallback)
  if(${out})
    return()
  endif()
  set(dir "")
  if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    pkg_get_variable(dir systemd ${pc_variable})
  endif()
  if(NOT dir)
    set(dir "${fallback}")
  endif()
  set(${out} "${dir}" PARENT_SCOPE)
endfunction()

certgate_systemd_dir(CERTGATE_SYSTEMD_UNITDIR systemdsystemunitdir
  "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
certgate_systemd_dir(CERTGATE_SYSUSERSDIR sysusersdir
  "${CMAKE_INSTALL_PREFIX}/lib/sysusers.d")
certgate_systemd_dir(CERTGATE_TMPFILESDIR tmpfilesdir
  "${CMAKE_INSTALL_PREFIX}/lib/tmpfiles.d")
message(STATUS "certgate: systemd units in ${CERTGATE_SYSTEMD_UNITDIR}")

set(_certgate_pkg ${CMAKE_CURRENT_SOURCE_DIR}/packaging)

# The units name /usr/sbin/cafetch (and /usr/libexec/certgate/...), the
# packages' paths; an install to another prefix gets copies that name its own.
# /etc/certgate and /var/cache/certgate stay as they are: the programs' default
# paths do not follow the prefix either.
# certgate-compile.path/.service keep the helpers' policy snapshot current
# (principals-cmd --compile); shipped disabled like the rest.
set(_certgate_units cafetch.service cafetch-once.service cafetch.timer
  certgate-compile.service certgate-compile.path)
# certgate-decide (decide/) ships its socket-activated service when present;
# like cafetch's units, the packages install it disabled.
foreach(unit certgate-decide.socket certgate-decide.service)
  if(EXISTS ${_certgate_pkg}/systemd/${unit})
    list(APPEND _certgate_units ${unit})
  endif()
endforeach()
foreach(unit IN LISTS _certgate_units)
  set(file ${_certgate_pkg}/systemd/${unit})
  if(NOT CMAKE_INSTALL_FULL_SBINDIR STREQUAL "/usr/sbin" OR
     NOT CMAKE_INSTALL_FULL_LIBEXECDIR STREQUAL "/usr/libexec")
    file(READ ${file} text)
    string(REPLACE "/usr/sbin/" "${CMAKE_INSTALL_FULL_SBINDIR}/" text "${text}")
    string(REPLACE "/usr/libexec/" "${CMAKE_INSTALL_FULL_LIBEXECDIR}/" text "${text}")
    set(file ${CMAKE_CURRENT_BINARY_DIR}/units/${unit})
    file(CONFIGURE OUTPUT ${file} CONTENT "${text}" @ONLY)
  endif()
  install(FILES ${file} DESTINATION ${CERTGATE_SYSTEMD_UNITDIR})
endforeach()
unset(_certgate_units)
install(FILES ${_certgate_pkg}/systemd/certgate-sysusers.conf
  DESTINATION ${CERTGATE_SYSUSERSDIR} RENAME certgate.conf)
install(FILES ${_certgate_pkg}/systemd/certgate-tmpfiles.conf
  DESTINATION ${CERTGATE_TMPFILESDIR} RENAME certgate.conf)

# certgate_install_config(source) installs the example config |source| into
# ${CMAKE_INSTALL_FULL_SYSCONFDIR}/certgate (under DESTDIR) unless a file of
# that name is there already: a `cmake --install` over a configured host
# must never replace the admin's policy with the deny-all example (the
# packages' conffile handling does the same). The example then goes beside
# it as NAME.example.
function(certgate_install_config source)
  get_filename_component(name "${source}" NAME)
  set(dir "${CMAKE_INSTALL_FULL_SYSCONFDIR}/certgate")
  install(CODE "
    if(EXISTS \"\$ENV{DESTDIR}${dir}/${name}\")
      message(STATUS \"Kept: \$ENV{DESTDIR}${dir}/${name} (the example is ${name}.example)\")
      file(INSTALL DESTINATION \"${dir}\" TYPE FILE RENAME \"${name}.example\" FILES \"${source}\")
    else()
      file(INSTALL DESTINATION \"${dir}\" TYPE FILE FILES \"${source}\")
    endif()")
endfunction()

# Example agent config, a conffile in the packages: names no issuer, so cafetch
# changes nothing until it is edited (policy.yaml: the top-level
# CMakeLists.txt calls certgate_install_config after including this file).
certgate_install_config(${_certgate_pkg}/etc/cafetch.yaml)

unset(_certgate_pkg)
