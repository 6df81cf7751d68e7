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

set(CERTGATE_SYSTEMD_UNITDIR "" CACHE PATH "Where to install cafetch's systemd units")
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

install(FILES
  ${_certgate_pkg}/systemd/cafetch.service
  ${_certgate_pkg}/systemd/cafetch-once.service
  ${_certgate_pkg}/systemd/cafetch.timer
  DESTINATION ${CERTGATE_SYSTEMD_UNITDIR})
install(FILES ${_certgate_pkg}/systemd/certgate-sysusers.conf
  DESTINATION ${CERTGATE_SYSUSERSDIR} RENAME certgate.conf)
install(FILES ${_certgate_pkg}/systemd/certgate-tmpfiles.conf
  DESTINATION ${CERTGATE_TMPFILESDIR} RENAME certgate.conf)

# Example agent config, a conffile in the packages: names no issuer, so cafetch
# changes nothing until it is edited (policy.yaml is installed by the top-level
# CMakeLists.txt).
install(FILES ${_certgate_pkg}/etc/cafetch.yaml
  DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/certgate)

unset(_certgate_pkg)
