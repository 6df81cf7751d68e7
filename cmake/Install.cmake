# Install rules for what the packages ship beyond the programs, their man
# pages and policy.yaml: systemd units, sysusers.d and tmpfiles.d entries and
# the example /etc/certgate/cafetch.yaml. Included from the top-level
# CMakeLists.txt after GNUInstallDirs and find_package(PkgConfig).
#
# Where these files go is decided when installing, for the prefix of that
# install, by cmake/InstallSystemFiles.cmake: `cmake --install build
# --prefix DIR` moves the programs after configuring (their DESTINATIONs are
# relative), and the units and configs must follow them. The three
# directories below are cache variables, so a package build can name its
# distribution's paths (the RPM spec passes %{_unitdir} and friends); those
# are used as given. Left empty, they come from systemd.pc when installing to
# /usr, and otherwise lie under the prefix, so that an install to /usr/local,
# or to a prefix given only to `cmake --install --prefix`, never writes
# outside its prefix. The example configs go to
# CMAKE_INSTALL_FULL_SYSCONFDIR/certgate for the configured prefix (/etc for
# /usr), to PREFIX/etc/certgate for a prefix given only when installing
# (/etc/certgate for / and /usr).

set(CERTGATE_SYSTEMD_UNITDIR "" CACHE PATH "Where to install certgate's systemd units")
set(CERTGATE_SYSUSERSDIR "" CACHE PATH "Where to install the sysusers.d entry")
set(CERTGATE_TMPFILESDIR "" CACHE PATH "Where to install the tmpfiles.d entry")

# systemd.pc's directories (empty without systemd.pc), for an install to /usr.
pkg_get_variable(_certgate_pc_unitdir systemd systemdsystemunitdir)
pkg_get_variable(_certgate_pc_sysusersdir systemd sysusersdir)
pkg_get_variable(_certgate_pc_tmpfilesdir systemd tmpfilesdir)
if(CERTGATE_SYSTEMD_UNITDIR)
  message(STATUS "certgate: systemd units in ${CERTGATE_SYSTEMD_UNITDIR}")
elseif(_certgate_pc_unitdir)
  message(STATUS "certgate: systemd units in ${_certgate_pc_unitdir} when installing to /usr, "
                 "else in PREFIX/lib/systemd/system")
else()
  message(STATUS "certgate: systemd units in PREFIX/lib/systemd/system (no systemd.pc)")
endif()

set(_certgate_pkg ${CMAKE_CURRENT_SOURCE_DIR}/packaging)

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

# What InstallSystemFiles.cmake needs from this configuration, in a script
# each install rule below includes first. CMAKE_INSTALL_<dir> are kept as
# given: a relative one follows the install-time prefix, as the programs do.
file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/certgate_install_settings.cmake @ONLY CONTENT [=[
# Written by cmake/Install.cmake: the configured values its install rules
# pass to cmake/InstallSystemFiles.cmake.
set(CERTGATE_CONFIGURED_PREFIX [[@CMAKE_INSTALL_PREFIX@]])
set(CERTGATE_CONFIGURED_SYSCONFDIR [[@CMAKE_INSTALL_FULL_SYSCONFDIR@]])
set(CERTGATE_SYSCONFDIR [[@CMAKE_INSTALL_SYSCONFDIR@]])
set(CERTGATE_SBINDIR [[@CMAKE_INSTALL_SBINDIR@]])
set(CERTGATE_LIBEXECDIR [[@CMAKE_INSTALL_LIBEXECDIR@]])
set(CERTGATE_SYSTEMD_UNITDIR [[@CERTGATE_SYSTEMD_UNITDIR@]])
set(CERTGATE_SYSUSERSDIR [[@CERTGATE_SYSUSERSDIR@]])
set(CERTGATE_TMPFILESDIR [[@CERTGATE_TMPFILESDIR@]])
set(CERTGATE_PC_UNITDIR [[@_certgate_pc_unitdir@]])
set(CERTGATE_PC_SYSUSERSDIR [[@_certgate_pc_sysusersdir@]])
set(CERTGATE_PC_TMPFILESDIR [[@_certgate_pc_tmpfilesdir@]])
set(CERTGATE_PACKAGING_DIR [[@_certgate_pkg@]])
set(CERTGATE_UNITS [[@_certgate_units@]])
include([[@CMAKE_CURRENT_LIST_DIR@/InstallSystemFiles.cmake]])
]=])

# certgate_install_code(call): an install rule that runs |call|, a command of
# InstallSystemFiles.cmake, with this configuration's settings.
function(certgate_install_code call)
  install(CODE "include([[${PROJECT_BINARY_DIR}/certgate_install_settings.cmake]])\n${call}")
endfunction()

certgate_install_code("certgate_install_system_files()")

# certgate_install_config(source) installs the example config |source| into
# /etc/certgate (CMAKE_INSTALL_FULL_SYSCONFDIR/certgate, or the install-time
# prefix's, as InstallSystemFiles.cmake says) unless a file of that name is
# there already (under DESTDIR): a `cmake --install` over a configured host
# must never replace the admin's policy with the deny-all example (the
# packages' conffile handling does the same). The example then goes beside
# it as NAME.example.
function(certgate_install_config source)
  certgate_install_code("certgate_install_example_config([[${source}]])")
endfunction()

# Example agent config, a conffile in the packages: names no issuer, so cafetch
# changes nothing until it is edited (policy.yaml: the top-level
# CMakeLists.txt calls certgate_install_config after including this file).
certgate_install_config(${_certgate_pkg}/etc/cafetch.yaml)

unset(_certgate_pkg)
unset(_certgate_units)
unset(_certgate_pc_unitdir)
unset(_certgate_pc_sysusersdir)
unset(_certgate_pc_tmpfilesdir)
